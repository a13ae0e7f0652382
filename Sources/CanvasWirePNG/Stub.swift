import CPNGCodec
