"""``make demo``: MemGEN learns by heart on the simulated hardware, every answer verified.

Three embedded datasets, nothing downloaded:

* pi, computed here (Chudnovsky's series), in records of 64 characters, on the iCEBreaker's memory
  (all four SPRAM blocks): recited back exactly until the memory is full, where the paper's run
  stopped at "3.1415";
* the lines of the Zen of Python (the ``this`` module ships with every Python), sampled; a
  histogram of the sampled line numbers against the band uniform sampling allows;
* the cat photograph that ships in scikit-image (``skimage.data.chelsea()``), cut into 12 x 12
  tiles trained as fixed-size 432-byte records; a mosaic of as many sampled tiles beside the
  training image.

The device is the full top level (UART included) compiled by Verilator by default; every recited
and sampled record is compared with the bit-exact reference model fed the same commands.
"""
