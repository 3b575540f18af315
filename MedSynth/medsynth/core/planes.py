"""The anatomical planes a volume is sliced in (standard library only: the Slicer side offers them at start-up)."""

#: Anatomical plane -> RAS axis the plane is perpendicular to (R=0, A=1, S=2).
PLANE_NORMAL_AXIS = {"sagittal": 0, "coronal": 1, "axial": 2}
PLANES = tuple(PLANE_NORMAL_AXIS)
