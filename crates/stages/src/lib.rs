//! framebus-stages: the built-in stages, one file each, grouped by domain.
