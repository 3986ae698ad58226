package PVE::API2::Balancer::Config;

# /cluster/balance/config: the cluster-wide balancer configuration (/etc/pve/balancer.cfg), read,
# changed and described key by key (the web UI builds its settings from 'schema'). Mounted by
# PVE::API2::Balancer, as pve-manager mounts PVE::API2::ClusterConfig below PVE::API2::Cluster.

use strict;
use warnings;

use JSON;

use PVE::Exception qw(raise_param_exc);
use PVE::JSONSchema qw(get_standard_option);
use PVE::Tools qw(extract_param);

use PVE::Balancer::API::Schema;
use PVE::Balancer::Config;
use PVE::Balancer::Env;

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    name => 'get_config',
    path => '',
    method => 'GET',
    description => "The cluster-wide balancer configuration (/etc/pve/balancer.cfg). A key"
        . " this version does not know or a value it cannot read is reported, never fatal.",
    permissions => PVE::Balancer::API::Schema::read_permissions(),
    parameters => {
        additionalProperties => 0,
        properties => {
            defaults => {
                type => 'boolean',
                description => "Also list the default of every key that is not set (the"
                    . " engine's defaults, as 'pve-balancer options' prints them).",
                optional => 1,
                default => 0,
            },
        },
    },
    returns => {
        type => 'object',
        additionalProperties => 0,
        properties => {
            %{ PVE::Balancer::Config::config_schema() },
            digest => get_standard_option('pve-config-digest'),
            unknown => {
                type => 'object',
                optional => 1,
                additionalProperties => 1,
                description => "Keys this version does not know, as written (kept on"
                    . " every change).",
            },
            errors => {
                type => 'array',
                optional => 1,
                items => { type => 'object' },
                description => "Lines with a bad value ({line, key, message}): the default"
                    . " applies, and plans are not applied until they are fixed.",
            },
            warnings => {
                type => 'array',
                optional => 1,
                items => { type => 'string' },
                description => "Unknown keys and keys set twice.",
            },
        },
    },
    code => sub {
        my ($param) = @_;

        my $env = PVE::Balancer::Env->default_env();
        my $cfg = PVE::Balancer::Config::load($env);

        my $res = {};
        if ($param->{defaults}) {
            $res = PVE::Balancer::Config::effective($cfg);
        } else {
            my $values = $cfg->{values};
            $res->{$_} = PVE::Balancer::Config::typed_value($_, $values->{$_}) for keys %$values;
        }
        my $schema = PVE::Balancer::Config::schema();
        for my $key (keys %$res) {
            # pveproxy answers booleans as 0/1
            $res->{$key} = $res->{$key} ? 1 : 0 if $schema->{$key}->{type} eq 'boolean';
        }
        $res->{digest} = $cfg->{digest};
        $res->{unknown} = { %{ $cfg->{unknown} } } if %{ $cfg->{unknown} };
        $res->{errors} = [map { {%$_} } @{ $cfg->{errors} }] if @{ $cfg->{errors} };
        my (undef, $warnings) = PVE::Balancer::Config::problems($cfg);
        $res->{warnings} = $warnings if @$warnings;

        return $res;
    },
});

__PACKAGE__->register_method({
    name => 'set_config',
    path => '',
    method => 'PUT',
    protected => 1,
    description => "Change the cluster-wide balancer configuration (/etc/pve/balancer.cfg)."
        . " Keys this version does not know stay in the file.",
    permissions => {
        description => "Requires 'Sys.Modify' on '/'.",
        check => ['perm', '/', ['Sys.Modify']],
    },
    parameters => {
        additionalProperties => 0,
        properties => {
            %{ PVE::Balancer::Config::config_schema() },
            delete => {
                type => 'string',
                format => 'pve-configid-list',
                description => "A list of keys to reset to their default (also removes"
                    . " unknown keys and lines with bad values).",
                optional => 1,
                maxLength => 4096,
            },
            digest => get_standard_option('pve-config-digest'),
        },
    },
    returns => { type => 'null' },
    code => sub {
        my ($param) = @_;

        my $digest = extract_param($param, 'digest');
        my $delete = extract_param($param, 'delete');
        my @delete = PVE::Tools::split_list($delete);

        my $set = {};
        my $errors = {};
        for my $key (sort keys %$param) {
            my $value = $param->{$key};
            $value = $value ? 1 : 0 if ref($value) && JSON::is_bool($value);
            $set->{$key} = eval { PVE::Balancer::Config::normalize($key, $value) };
            if (my $err = $@) {
                chomp $err;
                $errors->{$key} = $err;
            }
        }
        for my $key (@delete) {
            $errors->{$key} = "cannot set and delete at the same time" if defined($param->{$key});
        }
        raise_param_exc($errors) if %$errors;
        raise_param_exc({ delete => "nothing to change" }) if !%$set && !@delete;

        my $env = PVE::Balancer::Env->default_env();

        # checked before the lock too: errors raised inside cfs_lock lose their HTTP code
        my $check_delete = sub {
            my ($cfg) = @_;
            my $schema = PVE::Balancer::Config::schema();
            my %bad = map { ($_->{key} // '') => 1 } @{ $cfg->{errors} };
            for my $key (@delete) {
                next if $schema->{$key} || exists($cfg->{unknown}->{$key}) || $bad{$key};
                return "unknown key '$key'";
            }
            return undef;
        };
        if (my $err = $check_delete->(PVE::Balancer::Config::load($env))) {
            raise_param_exc({ delete => $err });
        }

        $env->cfs_lock(
            'config',
            10,
            sub {
                my $cfg = PVE::Balancer::Config::load($env);
                if (defined($digest) && $digest ne $cfg->{digest}) {
                    die "detected modified configuration - file changed by other user?"
                        . " Try again.\n";
                }
                if (my $err = $check_delete->($cfg)) {
                    die "delete: $err\n";
                }
                PVE::Balancer::Config::save($env,
                    PVE::Balancer::Config::update($cfg, $set, \@delete));
            },
        );

        return undef;
    },
});

__PACKAGE__->register_method({
    name => 'config_schema',
    path => 'schema',
    method => 'GET',
    description => "Every key of /etc/pve/balancer.cfg with its type, range or values, default"
        . " and description (the web UI builds its settings from it).",
    permissions => PVE::Balancer::API::Schema::read_permissions(),
    parameters => {
        additionalProperties => 0,
        properties => {},
    },
    returns => {
        type => 'array',
        items => {
            type => 'object',
            additionalProperties => 1,
            properties => {
                key => { type => 'string' },
                type => { type => 'string' },
                engine => {
                    type => 'boolean',
                    description => "An engine option (also a parameter of the plan calls).",
                },
                description => { type => 'string', optional => 1 },
            },
        },
    },
    code => sub {
        my ($param) = @_;

        my $schema = PVE::Balancer::Config::config_schema();
        my $res = [];
        for my $key (sort keys %$schema) {
            my $s = $schema->{$key};
            push @$res, {
                key => $key,
                engine => PVE::Balancer::Config::is_engine_option($key) ? 1 : 0,
                map { defined($s->{$_}) ? ($_ => $s->{$_}) : () }
                    qw(type description default minimum maximum enum pattern format),
            };
        }
        return $res;
    },
});

1;
