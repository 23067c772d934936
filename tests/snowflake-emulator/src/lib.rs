//! Snowflake SQL API v2 emulator (see README).
