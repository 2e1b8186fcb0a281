"""What every part of augbench shares and nothing else: the name registry, the user-facing errors,
device and precision choice, seeding, and the run layout (the names runs are stored under, which
benchmark writes and reports reads). It imports no other augbench package, so datasets,
generators, classifiers, benchmark and reports can all depend on it without a cycle."""
