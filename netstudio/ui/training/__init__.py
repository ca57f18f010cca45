"""Training in the window: the workflow, the task runner and worker, the Training and Runs panels, export and cluster dialogs."""
