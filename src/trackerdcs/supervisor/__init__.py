"""``dcs up``: starts the broker and every service of a stand, restarts what dies, stops it all in order."""
