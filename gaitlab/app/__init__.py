"""`gaitlab app`: the local web app (server.py: pages and routes; jobs.py: worker processes; db.py: SQLite, every query)."""
