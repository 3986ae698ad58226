package PVE::CLI::pvesh;

# Test double of pve-manager's PVE::CLI::pvesh (PVE/CLI/pvesh.pm) for the package test:
# `pvesh get|create|set|delete PATH` resolves PATH in PVE::API2 as the real one does
# (find_handler on the method's HTTP verb) and prints the handler instead of calling it; no
# handler dies with the real message ("No 'get' handler defined for '/x'").

use strict;
use warnings;

use PVE::API2;

my %verb = (get => 'GET', create => 'POST', set => 'PUT', delete => 'DELETE');

sub run_cli_handler {
    my ($class, %params) = @_;

    my ($cmd, $path) = @ARGV;
    die "usage: pvesh get|create|set|delete PATH\n" if !$cmd || !$verb{$cmd} || !defined($path);
    my ($handler, $info) = PVE::API2->find_handler($verb{$cmd}, $path, {});
    die "No '$cmd' handler defined for '$path'\n" if !$info;
    print "$verb{$cmd} $path: ${handler}::$info->{name}\n";
    exit(0);
}

1;
