"""Training and validation on ultralytics' engine: trainers and validators, train/val entry functions, input
checks, the run-folder guard, export and torch.compile of attention modules."""
