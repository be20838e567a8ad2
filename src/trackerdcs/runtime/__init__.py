"""Running child processes: their own process group, death with the parent, a stop that always ends them."""
