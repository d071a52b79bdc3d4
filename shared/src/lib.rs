//! lasthop-core: the pure core (in progress).
