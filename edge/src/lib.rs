//! lasthop-edge: the Worker (in progress).
