//! Adapter: see the module owner's docs.
