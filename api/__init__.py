"""The REST API (FastAPI) for the kiosk, couriers' apps and staff."""
