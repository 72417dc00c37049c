#ifndef CLIBXML2_SHIM_H
#define CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian's libxml2 is built with ICU, and its encoding.h then pulls in ICU's headers, which
   clash with the ICU copy inside Foundation. Nothing here touches the ICU-only fields of
   xmlCharEncodingHandler, so the headers are read without them. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>
#include <libxml/dict.h>
#include <libxml/xmlschemas.h>
#include <libxml/tree.h>
#endif
