"""The run folder: ``folder.save_run(session, summary, out_dir, write_models=...)`` writes it,
``folder.load_run(path)`` reads it back; ``history`` lists and compares a project's runs."""
