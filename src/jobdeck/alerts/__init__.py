"""Alert rules over the store, their evaluator, state and history, silences and notification channels."""
