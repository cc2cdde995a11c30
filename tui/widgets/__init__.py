"""One widget per module: captions, status bar, device panel, latency panel, help screen."""
