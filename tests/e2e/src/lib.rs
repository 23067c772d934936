//! End-to-end tests over real HTTP live in tests/.
