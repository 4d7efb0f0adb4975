"""The SVRIMG image format, in one place: sizes, classes and the published class mix.

Both :mod:`coursekit.data` (real images) and :mod:`coursekit.synthetic` (offline
images) describe the same format; they take its facts from here.
"""

#: Storm-mode classes of SVRIMG, in label order (label 0 is "Cellular").
CLASS_NAMES = ("Cellular", "QLCS", "Tropical", "Other", "Noise", "Missing")
#: Rows and columns of one image.
IMAGE_SIZE = 136
#: Approximate width of one pixel in km (136 px is about 512 km).
PIXEL_KM = 512 / 136
#: SVRIMG's published storm-mode labels over all 1,741 example images
#: (training, validation and testing together), in the order of CLASS_NAMES.
CLASS_COUNTS = (664, 651, 263, 49, 19, 95)
