"""Device adapters of a sede: the ESC/POS ticket printer (``hardware.printer``) and the Spanish
call announcer (``hardware.speech``). Light to import; drivers load on first use."""
