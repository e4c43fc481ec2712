package io.ebsreplicator.local.sts;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.ec2.Ec2Responses;

import io.netty.handler.codec.http.FullHttpResponse;

import java.util.UUID;

/**
 * The STS Query wire format: XML answers in STS's namespace with {@code ResponseMetadata}, and
 * errors as {@code <ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/></Error>
 * <RequestId/></ErrorResponse>}, with the codes the STS front end uses for what the shared request
 * handling reports in EBS terms. Stateless.
 */
public final class StsResponses {

    static final String NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";

    /** The code STS answers for temporary credentials past their expiration. */
    public static final String EXPIRED_TOKEN = "ExpiredToken";

    private StsResponses() {}

    /** Renders any error of an STS request in the STS error format. */
    public static FullHttpResponse render(EbsError e) {
        int status = e.status();
        String code =
                switch (e.type()) {
                    case "InvalidSignatureException" -> "SignatureDoesNotMatch";
                    case "UnrecognizedClientException" -> "InvalidClientTokenId";
                    case "MissingAuthenticationTokenException" -> "MissingAuthenticationToken";
                    case "IncompleteSignatureException" -> "IncompleteSignature";
                    case "ExpiredTokenException" -> EXPIRED_TOKEN;
                    case "ValidationException", "SerializationException" -> "ValidationError";
                    case "RequestThrottledException" -> "Throttling";
                    case "ServiceUnavailableException" -> "ServiceUnavailable";
                    default -> status >= 500 ? "InternalFailure" : e.type();
                };
        if (status >= 500 && status != 503) {
            status = 500;
        }
        String xml =
                "<ErrorResponse xmlns=\""
                        + NAMESPACE
                        + "\">\n  <Error>\n    <Type>"
                        + (status >= 500 ? "Receiver" : "Sender")
                        + "</Type>\n    <Code>"
                        + escape(code)
                        + "</Code>\n    <Message>"
                        + escape(e.getMessage())
                        + "</Message>\n  </Error>\n  <RequestId>"
                        + UUID.randomUUID()
                        + "</RequestId>\n</ErrorResponse>\n";
        return xml(status, xml);
    }

    /** A successful answer: {@code <ActionResponse><ActionResult>result</ActionResult>...}. */
    static FullHttpResponse result(String action, String resultXml) {
        String requestId = UUID.randomUUID().toString();
        String xml =
                "<"
                        + action
                        + "Response xmlns=\""
                        + NAMESPACE
                        + "\">\n  <"
                        + action
                        + "Result>\n"
                        + resultXml
                        + "  </"
                        + action
                        + "Result>\n  <ResponseMetadata>\n    <RequestId>"
                        + requestId
                        + "</RequestId>\n  </ResponseMetadata>\n</"
                        + action
                        + "Response>\n";
        FullHttpResponse r = xml(200, xml);
        r.headers().set("x-amzn-RequestId", requestId);
        return r;
    }

    private static FullHttpResponse xml(int status, String xml) {
        return Ec2Responses.xml(status, xml);
    }

    static String escape(String s) {
        return Ec2Responses.escape(s);
    }
}
