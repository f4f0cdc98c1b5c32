/* The XML-RPC encoding of the reply writer: a methodResponse laid out as xmlrpc-c's
 * serializer lays it out (CRLF after each member name and value, <i4> for integers,
 * typed <string>), so that a reply written here and one serialized from a value tree
 * are the same bytes (tests/unit/writer_test.c compares them). */
#include "writer-internal.h"

static void member(struct rpc_writer *w, const char *name)
{
	util_buf_addlit(&w->buf, "<member><name>");
	util_buf_add_xml(&w->buf, name);
	util_buf_addlit(&w->buf, "</name>\r\n");
}

static void value_end(struct rpc_writer *w, bool is_member)
{
	if (is_member)
		util_buf_addlit(&w->buf, "</value></member>\r\n");
	else
		util_buf_addlit(&w->buf, "</value>\r\n");
}

static void x_begin(struct rpc_writer *w)
{
	util_buf_addlit(&w->buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
				 "<methodResponse>\r\n<params>\r\n<param><value><struct>\r\n");
}

static void x_open(struct rpc_writer *w, const char *name, bool array)
{
	if (name)
		member(w, name);
	if (array)
		util_buf_addlit(&w->buf, "<value><array><data>\r\n");
	else
		util_buf_addlit(&w->buf, "<value><struct>\r\n");
}

static void x_close(struct rpc_writer *w, bool array, bool is_member)
{
	if (array)
		util_buf_addlit(&w->buf, "</data></array>");
	else
		util_buf_addlit(&w->buf, "</struct>");
	value_end(w, is_member);
}

static void x_number(struct rpc_writer *w, const char *name, const struct rpc_num *n,
		     bool as_string)
{
	if (name)
		member(w, name);
	if (as_string) {
		util_buf_addlit(&w->buf, "<value><string>");
		rpc_writer_put_num(w, n);
		util_buf_addlit(&w->buf, "</string>");
	} else if (n->kind == RPC_NUM_I64) {
		util_buf_addlit(&w->buf, "<value><i4>");
		rpc_writer_put_num(w, n);
		util_buf_addlit(&w->buf, "</i4>");
	} else {
		util_buf_addlit(&w->buf, "<value><double>");
		rpc_writer_put_num(w, n);
		util_buf_addlit(&w->buf, "</double>");
	}
	value_end(w, name != NULL);
}

static void x_boolean(struct rpc_writer *w, const char *name, bool v)
{
	if (name)
		member(w, name);
	if (v)
		util_buf_addlit(&w->buf, "<value><boolean>1</boolean>");
	else
		util_buf_addlit(&w->buf, "<value><boolean>0</boolean>");
	value_end(w, name != NULL);
}

static void x_string(struct rpc_writer *w, const char *name, const char *s)
{
	if (name)
		member(w, name);
	util_buf_addlit(&w->buf, "<value><string>");
	util_buf_add_xml(&w->buf, s);
	util_buf_addlit(&w->buf, "</string>");
	value_end(w, name != NULL);
}

static void x_finish(struct rpc_writer *w, int code, const char *message)
{
	util_buf_addlit(&w->buf, "<member><name>status</name>\r\n<value><struct>\r\n"
				 "<member><name>code</name>\r\n<value><i4>");
	util_buf_add_i64(&w->buf, code);
	util_buf_addlit(&w->buf, "</i4></value></member>\r\n"
				 "<member><name>message</name>\r\n<value><string>");
	util_buf_add_xml(&w->buf, message);
	util_buf_addlit(&w->buf, "</string></value></member>\r\n</struct></value></member>\r\n"
				 "</struct></value></param>\r\n</params>\r\n</methodResponse>\r\n");
}

const struct rpc_writer_ops rpc_writer_xmlrpc_ops = {
	.name = "xmlrpc",
	.begin = x_begin,
	.open = x_open,
	.close = x_close,
	.number = x_number,
	.boolean = x_boolean,
	.string = x_string,
	.finish = x_finish,
};
