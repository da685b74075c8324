"""The registry tests' databases: fresh, empty and writable, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .pgcluster import PgCluster


def _uids(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of a local process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(uid) for uid in line.split()[1:]]
    raise AssertionError(f"no Uid line for process {pid}")


def test_db_url_is_fresh_empty_and_writable(db_url: str, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["db_url"]
    engine = sa.create_engine(db_url)
    try:
        assert engine.dialect.name == backend
        assert sa.inspect(engine).get_table_names() == []
        metadata = sa.MetaData()
        probe = sa.Table(
            "probe",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("text", sa.String(40), nullable=False),
        )
        metadata.create_all(engine)
        with engine.begin() as connection:
            rows = [{"id": 1, "text": "证书"}, {"id": 2, "text": "two"}]
            connection.execute(probe.insert(), rows)
        with engine.connect() as connection:
            read = connection.execute(sa.select(probe.c.text).order_by(probe.c.id)).scalars()
            assert read.all() == ["证书", "two"]
            if backend != "postgresql":
                return
            assert str(connection.scalar(sa.text("SELECT version()"))).startswith("PostgreSQL ")
            cluster: PgCluster = request.getfixturevalue("pg_cluster")
            if cluster.external:
                return  # someone else's server (DOCGEN_TEST_PG): not ours to inspect
            data = connection.scalar(sa.text("SELECT current_setting('data_directory')"))
            pid = connection.scalar(sa.text("SELECT pg_backend_pid()"))
            tcp = connection.scalar(sa.text("SELECT current_setting('listen_addresses')"))
            socket = connection.scalar(sa.text("SELECT current_setting('unix_socket_directories')"))
        assert Path(str(data)).stat().st_uid != 0
        assert 0 not in _uids(int(str(pid)))  # the server is not running as root
        assert Path(str(data)).is_relative_to(str(cluster.socket_dir))
        assert (tcp, socket) == ("", str(cluster.socket_dir))  # a socket only, no TCP
    finally:
        engine.dispose()


def test_cluster_databases_are_distinct_and_dropped(pg_cluster: PgCluster) -> None:
    urls = [pg_cluster.database(), pg_cluster.database()]
    names = {make_url(url).database for url in urls}
    admin = sa.create_engine(pg_cluster.url)

    def listed() -> set[str]:
        with admin.connect() as connection:
            query = sa.text("SELECT datname FROM pg_database")
            return set(connection.execute(query).scalars())

    try:
        assert len(names) == 2
        assert names <= listed()
        for url in urls:
            pg_cluster.drop(url)
        assert not names & listed()
    finally:
        admin.dispose()
