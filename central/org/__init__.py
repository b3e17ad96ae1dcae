"""Organisation: direcciones distritales, sedes and everything a sede hub needs to run."""
