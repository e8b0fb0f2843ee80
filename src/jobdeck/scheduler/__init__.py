"""Starting and stopping runs: the executors. Triggers and the scheduling loop come later."""
