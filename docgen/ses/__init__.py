"""GB/T 38540 electronic seal structures (SES), per version: ``v4`` (GB/T 38540-2020)."""
