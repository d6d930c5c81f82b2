"""Media: WebRTC peers, producers and consumers, forwarding, recording and frame analysis."""
