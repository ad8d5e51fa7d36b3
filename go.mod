module github.com/bearerkit/bearerkit

go 1.26.8

require github.com/go-jose/go-jose/v4 v4.1.9
