"""The camera simulator: a traveller's live frames rendered from real face photographs, served as an
MJPEG stream over HTTP on 127.0.0.1 so the daemon opens it with cv2.VideoCapture like any IP camera."""
