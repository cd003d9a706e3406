"""Files a node keeps in its state folder, safe against names that come off the bus."""

from brain._files import OutsideFolderError, inside, open_database, remove_oldest, write_whole

__all__ = ["OutsideFolderError", "inside", "open_database", "remove_oldest", "write_whole"]
