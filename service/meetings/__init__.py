"""The OKR meeting rhythm: meetings, their occurrences and follow-up actions, and calendar feeds."""
