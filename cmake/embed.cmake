# Turn a file into C: `const unsigned char SYMBOL[]` with its bytes and `const size_t
# SYMBOL_len`. The bytes are followed by a NUL that SYMBOL_len does not count.
# Usage: cmake -DIN=<file> -DOUT=<file.c> -DSYMBOL=<name> [-DHEADER=<header.h>] -P embed.cmake
# HEADER, when given, is #included so the compiler checks its declarations against these
# definitions. Generic: any module can use it (iso20022/ keeps its own, which includes
# iso_int.h).
foreach(var IN ITEMS IN OUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: -D${var}=... is required")
  endif()
endforeach()
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
get_filename_component(name "${IN}" NAME)
if(DEFINED HEADER)
  set(include "#include \"${HEADER}\"\n")
else()
  set(include "#include <stddef.h>\n")
endif()
file(WRITE "${OUT}.tmp"
  "/* Generated from ${name} by cmake/embed.cmake: do not edit. */\n"
  "${include}\n"
  "const unsigned char ${SYMBOL}[] = {\n${bytes}0x00};\n"
  "const size_t ${SYMBOL}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
