//! lasthop-e2e: launchers and end-to-end tests (in progress).
