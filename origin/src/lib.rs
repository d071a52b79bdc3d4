//! lasthop-origin: the origin vault (in progress).
