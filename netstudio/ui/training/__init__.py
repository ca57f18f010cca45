"""Training in the window: the workflow (data, training, plot and runs panels around one
controller), the controller and worker of a run and the messages they send, the Training and
Runs panels, the export and cluster dialogs."""
