# Turn a file into C: `const unsigned char SYMBOL[]` with its bytes and `SYMBOL_len`.
# Usage: cmake -DIN=<file> -DOUT=<file.c> -DSYMBOL=<name> -P embed.cmake
# The bytes are followed by a NUL that SYMBOL_len does not count.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
get_filename_component(name "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "/* Generated from ${name} by embed.cmake: do not edit. */\n"
  "#include \"iso_int.h\"\n\n"
  "const unsigned char ${SYMBOL}[] = {\n${bytes}0x00};\n"
  "const size_t ${SYMBOL}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
