"""HTTP routes of the sync app (statistics from the AI Horde), mounted from config/urls.py."""
