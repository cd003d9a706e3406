from brain.cli import main

# Guarded: a child process that multiprocessing spawns imports this module again.
if __name__ == "__main__":
    main()
