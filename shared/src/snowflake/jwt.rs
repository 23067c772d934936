//! Key-pair JWTs exactly as Snowflake documents them, cached until ~5 minutes before expiry.
