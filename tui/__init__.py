"""edge-tui: the technician's terminal console for Digitallabor edge agents (Textual); see
README.md in this folder for keys, screens, SSH use and read-only mode."""
