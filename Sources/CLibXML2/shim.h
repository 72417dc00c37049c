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

/* libxml2 reports some input errors (an encoding it cannot convert) through its generic error
   function, which prints to standard error, instead of the parser's structured callback. The
   reader gets the same failure as an error from the parse; this keeps the untrusted input off
   standard error. The function is variadic, which Swift cannot write, hence C. */
static void clibxml2_ignore_generic_error(void *context, const char *message, ...) {
    (void)context;
    (void)message;
}

/* libxml2's error function is per thread: call on the thread that parses. */
static inline void clibxml2_silence_generic_errors(void) {
    xmlSetGenericErrorFunc(NULL, clibxml2_ignore_generic_error);
}
#endif
