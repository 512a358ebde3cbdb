"""Development plans: goals, training items, an owner who follows them with the employee,
linked to a nomination and to a review meeting's improvement plan."""
