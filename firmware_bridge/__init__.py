"""Hardware adapters: GPIO relays and reed switches (gpiozero), later RS-485 lock boards."""
