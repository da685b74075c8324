"""Electronic seals and signatures for issued files (OFD SES seals, PAdES, signed QR)."""
