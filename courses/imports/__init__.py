"""Turn teacher material (Markdown folder or .zip, PDF, .pptx) into scenes to review."""
