"""The core that ties workers and searchers to the database: settings, models, jobs, runner."""
