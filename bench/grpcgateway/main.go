// grpc-gateway v2 in front of the same dnc.v1.DncService: the peer our Python gateway is
// measured against (bench/). Generated code comes from proto/ at `make bench` time.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	dncv1 "dnc/gen/dnc/v1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "HTTP address")
	target := flag.String("target", "127.0.0.1:50051", "gRPC service")
	flag.Parse()

	mux := runtime.NewServeMux()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if err := dncv1.RegisterDncServiceHandlerFromEndpoint(context.Background(), mux, *target, opts); err != nil {
		log.Fatal(err)
	}
	log.Printf("grpc-gateway listening on %s, upstream %s", *listen, *target)
	log.Fatal(http.ListenAndServe(*listen, mux))
}
