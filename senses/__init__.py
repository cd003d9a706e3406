"""Built-in sense nodes (camera, microphone, twitter) live here."""
