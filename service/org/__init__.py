"""Organizations, departments (a tree), positions and employees."""
