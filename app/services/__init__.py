"""State-changing operations and queries per feature; views call these."""
